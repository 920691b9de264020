"""odoo-platform: governed Odoo estates on Azure and AWS, built with Pulumi."""

__version__ = "0.1.0"
