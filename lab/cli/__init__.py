"""The command line (`main`: `./workbook VERB`), the verbs about the cache (`cache_verbs`: fetch, bench, web), the
doctor (`doctor`), JupyterLab and Voilà (`jupyter`), shell exports (`shell`), a shared JupyterHub environment
(`hub`). The top layer: it may import any other."""
