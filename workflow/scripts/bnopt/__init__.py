"""Reproduction of Santurkar et al. (2018), "How Does Batch Normalization Help Optimization?".

The logic of the Snakemake workflow: data, models, training, probes, tables, figures, report.
"""
