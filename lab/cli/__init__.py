"""The command line (`main`: `./workbook VERB`), the doctor (`doctor`), JupyterLab and Voilà (`jupyter`), shell
exports (`shell`), a shared JupyterHub environment (`hub`). The top layer: it may import any other."""
