"""XTinyU-Net: the smallest nnU-Net width that segments a dataset as well as the full network,
found without training (docs/method.md). One subpackage per step of the workflow, in the order
the data flows: sources -> plans -> scoring -> selection -> training -> evaluation -> deployment
-> reporting -> provenance."""
