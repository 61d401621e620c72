"""The DeepSense 6G reader: a scenario folder (real download or synthetic) into one validated SampleTable.

reader (folders and CSV -> SampleTable), rows (which column feeds which field; one row's reader),
cells (one cell and the small file it points to, checked cheaply).
"""
