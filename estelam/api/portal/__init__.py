"""The case portal: web pages for judges (cases, asset reports, directives), creditors and debtors.

Served by the API app under ``/portal``; signing in takes the API's tokens.
"""
