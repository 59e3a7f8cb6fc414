"""Guest checks for pgtbench.ko's map_mem command (see guest_suite.FEATURES)."""


def guest_steps(series):
    return ""


def guest_files(out_dir, series):
    return []


def check(suite, b, series, figures, g):
    pass
