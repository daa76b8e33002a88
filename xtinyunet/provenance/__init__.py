"""What a result was computed from (the manifest) and the audit that checks a results folder
against its own records."""
