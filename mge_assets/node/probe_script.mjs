// Runs in the sandbox in a compiled TypeScript project: imports every module (level 2), then starts the
// service on a loopback port and calls /health and each resource (level 4); writes probe.json.
// Usage: node --input-type=module -e <this text> '<json: {"compiled", "app", "paths"}>'
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(process.argv[process.argv.length - 1]);
const load = (path) => import(pathToFileURL(resolve(path)).href);
const report = { modules: {}, system: {}, system_error: "" };
for (const [module, compiled] of Object.entries(spec.compiled)) {
  try {
    await load(compiled);
    report.modules[module] = "";
  } catch (error) {
    report.modules[module] = `${error?.name}: ${error?.message}`;
  }
}
try {
  report.system = await serveAndCall();
} catch (error) {
  report.system_error = `${error?.name}: ${error?.message}`;
}
writeFileSync("probe.json", JSON.stringify(report));
process.exit(0);

async function serveAndCall() {
  const server = (await load(spec.app)).createApp();
  await new Promise((ready) => server.listen(0, "127.0.0.1", ready));
  const statuses = {};
  try {
    for (const path of ["/health", ...spec.paths]) {
      statuses[path] = await status(server.address().port, path);
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  return statuses;
}

function status(port, path) {
  return new Promise((done, fail) => {
    const call = request({ host: "127.0.0.1", port, path, timeout: 10000 }, (answer) => {
      answer.resume();
      answer.on("end", () => done(answer.statusCode));
    });
    call.on("error", fail);
    call.end();
  });
}
