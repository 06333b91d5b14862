"""Security tests of the web app: sessions, CSRF, XSS, SQL injection, path traversal, upload
limits, rate limits and security headers (issue 10, docs/reliability.md § security)."""
