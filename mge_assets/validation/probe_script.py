"""Runs inside the sandbox, in the generated project's directory: imports every module (level 2), then
starts the service with uvicorn on a loopback port and calls /health and each resource (level 4).

Usage: python -c <this file's text> '<json: {"package", "modules", "paths"}>'; writes probe.json.
"""

import importlib
import json
import socket
import sys
import threading
import time
import urllib.request


def main() -> None:
    spec = json.loads(sys.argv[1])
    report = {"modules": {}, "system": {}, "system_error": ""}
    for module in spec["modules"]:
        try:
            importlib.import_module(module)
            report["modules"][module] = ""
        except BaseException as error:  # any failure of generated code is a result, not a crash
            report["modules"][module] = f"{type(error).__name__}: {error}"
    try:
        report["system"] = serve_and_call(spec["package"], spec["paths"])
    except BaseException as error:
        report["system_error"] = f"{type(error).__name__}: {error}"
    with open("probe.json", "w") as handle:
        json.dump(report, handle)


def serve_and_call(package: str, paths: list[str]) -> dict[str, int]:
    import uvicorn

    app = importlib.import_module(f"{package}.app").create_app("probe.db")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start within 15 s")
        time.sleep(0.05)
    statuses = {}
    try:
        for path in ["/health", *paths]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                    statuses[path] = response.status
            except urllib.error.HTTPError as error:
                statuses[path] = error.code
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return statuses


if __name__ == "__main__":
    main()
