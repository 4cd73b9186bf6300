"""Stripe: plan, subscription and payment state, entitlements and charge issues of the ticket's tenant."""
