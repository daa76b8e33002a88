"""The results of every trained model gathered into the paper's tables and figures, and the
cost ledger."""
