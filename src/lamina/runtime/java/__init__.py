"""Support files of Lamina's Java runtimes (``runtime/families/java.py``): ``bootstrap.sh``, the start
command of every Java environment, and ``cds.py``, which prepares class-data-sharing archives of AWS's
runtime interface client for faster cold starts (trained with ``Trainer.java``)."""
