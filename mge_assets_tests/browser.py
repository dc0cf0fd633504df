"""What the real-browser tests share: Debian's chromium, headless, driven through Playwright's API
(Playwright's own browser download is not used)."""

# No sandbox (tests run as root in containers), no GPU, and nothing that reaches the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
