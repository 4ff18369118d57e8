// infra-context: the context pack after a compaction (see HOOK.md). No timers, no state on
// disk: each event runs `infra context` once, bounded by a time limit, and the last pack
// seen per session is kept in memory as the fallback when infra is slow or failing.
import { execFile } from "node:child_process";
import path from "node:path";

const FILE_NAME = "INFRA_CONTEXT.md";
const DEFAULT_TIMEOUT_MS = 4000;
const MAX_PACK_BYTES = 64 * 1024;
const MAX_REMEMBERED = 200;
const lastPack = new Map(); // "agent\0session" -> pack text

function options(event) {
  const env = event.context?.cfg?.hooks?.internal?.entries?.["infra-context"]?.env ?? {};
  const timeout = Number.parseInt(env.INFRA_CONTEXT_TIMEOUT_MS ?? "", 10);
  return {
    bin: env.INFRA_BIN || process.env.INFRA_BIN || "infra",
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
  };
}

function agentOf(event) {
  if (event.context?.agentId) return String(event.context.agentId);
  const match = /^agent:([^:]+):/.exec(event.sessionKey ?? "");
  return match ? match[1] : null;
}

function remember(key, text) {
  lastPack.delete(key);
  if (text) lastPack.set(key, text);
  while (lastPack.size > MAX_REMEMBERED) lastPack.delete(lastPack.keys().next().value);
}

// The pack from infra, or null when infra is absent, failed or ran past the time limit.
function runInfra(agent, sessionId, opts) {
  const args = ["context", "--agent", agent, "--session", sessionId, "--if-compacted", "--service-only"];
  return new Promise((resolve) => {
    try {
      execFile(
        opts.bin,
        args,
        { timeout: opts.timeoutMs, killSignal: "SIGKILL", maxBuffer: MAX_PACK_BYTES, windowsHide: true },
        (error, stdout) => resolve(error ? null : String(stdout)),
      );
    } catch {
      resolve(null);
    }
  });
}

async function fresh(agent, sessionId, opts) {
  const key = `${agent}\u0000${sessionId}`;
  const text = await runInfra(agent, sessionId, opts);
  if (text === null) return lastPack.get(key) ?? "";
  remember(key, text.trim());
  return text.trim();
}

export default async function handler(event) {
  try {
    const agent = agentOf(event);
    const sessionId = event.context?.sessionId;
    if (!agent || !sessionId) return;
    const opts = options(event);
    if (event.type === "session" && event.action === "compact:after") {
      await fresh(agent, String(sessionId), opts);
      return;
    }
    if (event.type !== "agent" || event.action !== "bootstrap") return;
    const files = event.context.bootstrapFiles;
    if (!Array.isArray(files) || !event.context.workspaceDir) return;
    const pack = await fresh(agent, String(sessionId), opts);
    if (!pack) return;
    files.push({
      name: FILE_NAME,
      path: path.join(String(event.context.workspaceDir), FILE_NAME),
      content: pack,
      missing: false,
    });
  } catch (error) {
    console.warn(`[infra-context] skipped: ${String(error?.message ?? error)}`);
  }
}
