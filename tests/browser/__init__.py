"""Browser tests: headless Debian Chromium driven by Playwright against a live test server."""
