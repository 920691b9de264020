"""Delivery as code: GitOps reconciliation objects and the Azure DevOps delivery stack."""
