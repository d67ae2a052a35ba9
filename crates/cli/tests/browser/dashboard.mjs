// The dashboard in a real browser (headless Chromium, driven by playwright-core), against a
// running devnet: the page must show the committee and the parent key the chain reports, a
// rotation in its history after the chain made it, and a slash after the chain recorded it; it
// must load nothing from elsewhere, raise no script error, and fit a phone's width. Saves a
// screenshot. Run by crates/cli/tests/devnet.rs:
//   node dashboard.mjs <dashboard URL> <node HTTP RPC URL> <screenshot path>
import { chromium } from "playwright-core";

const [dashboard, nodeRpc, screenshot] = process.argv.slice(2);
if (!dashboard || !nodeRpc || !screenshot) {
  console.error("usage: node dashboard.mjs <dashboard URL> <node HTTP RPC URL> <screenshot path>");
  process.exit(2);
}
const executablePath = process.env.KEYWHEEL_CHROMIUM || "/usr/bin/chromium";
const origin = new URL(dashboard).origin;

function log(message) {
  console.log(`[browser ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function rpc(method, params = []) {
  const response = await fetch(nodeRpc, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

// Polls `check` until it returns something truthy; fails with `what` after `limitMs`.
async function until(what, limitMs, check) {
  const deadline = Date.now() + limitMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = ` (last error: ${e.message})`;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${limitMs / 1000} s waiting for ${what}${last}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const foreign = [];
  const errors = [];
  page.on("request", (r) => { if (new URL(r.url()).origin !== origin) foreign.push(r.url()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(dashboard);
  log(`opened ${dashboard}`);

  // The parent key, as the chain has it (the jumpstart takes a minute or two).
  const parent = await until("the chain's parent key", 15 * 60_000, () => rpc("keywheel_parentKey"));
  await until("the page to show the parent key " + parent, 30_000,
    async () => (await page.textContent("[data-testid=parent-key]")) === parent);
  log(`the page shows the parent key ${parent}`);

  // The committee, in the chain's join order (members joining are listed after it). The
  // history's rotations are read from the same rendering, so a rotation the chain makes after
  // this check is one the page did not show yet.
  const [members, before] = await until("the page to show the committee the chain reports", 60_000, async () => {
    const chain = (await rpc("keywheel_committee")).members.map((m) => m.tss);
    const shown = await page.evaluate(() => ({
      rows: [...document.querySelectorAll("#committee tbody tr")]
        .filter((tr) => tr.cells[0].textContent !== "new").map((tr) => tr.dataset.tss),
      rotated: [...document.querySelectorAll("#history tbody tr[data-outcome=rotated]")].map((t) => t.dataset.session),
    }));
    return chain.length > 0 && JSON.stringify(shown.rows) === JSON.stringify(chain) ? [chain, new Set(shown.rotated)] : null;
  });
  log(`the page shows the committee: ${members.length} members`);
  const phases = await page.$$eval("#committee tbody tr", (trs) => trs.map((t) => t.dataset.phase));
  const known = ["rotated", "standby", "resharing", "holding", "confirmed", "leaving", "down", "halted"];
  if (!phases.every((p) => known.includes(p))) throw new Error(`phases not of the known set: ${phases}`);

  // A rotation the chain makes from now on appears in the page's history.
  const rotatedTo = await until("the chain to rotate its committee", 20 * 60_000, async () => {
    const now = (await rpc("keywheel_committee")).members.map((m) => m.tss);
    return JSON.stringify(now) !== JSON.stringify(members) ? now : null;
  });
  const session = await until("the rotation in the page's history", 30_000, async () => {
    const rows = await page.$$eval("#history tbody tr[data-kind=Rotation][data-outcome=rotated]", (trs) => trs.map((t) => t.dataset.session));
    return rows.find((s) => !before.has(s));
  });
  log(`the page's history shows session ${session} rotated (committee now ${rotatedTo.length})`);

  // A slash, once the chain recorded one, with its kind.
  const slash = await until("a slash on chain", 20 * 60_000, async () => (await rpc("keywheel_slashes"))[0]);
  const kind = slash.kind === "Stake" ? "stake" : "excluded";
  await until(`the page to show the slash of ${slash.tss}`, 30_000, async () =>
    (await page.$$eval(`#slashes tbody tr[data-kind=${kind}]`, (trs) => trs.map((t) => t.dataset.tss))).includes(slash.tss));
  log(`the page shows the ${kind} slash of ${slash.tss}`);

  // The child address lookup answers for an account.
  await page.fill("#account", slash.validator);
  await page.click("#lookup button");
  const address = await until("the child address lookup", 30_000, async () => page.textContent("[data-testid=child-address]"));
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`the lookup answered ${address}`);
  log(`the lookup derived ${address}`);

  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot ${screenshot}`);

  // Readable on a phone: nothing wider than the screen (wide tables scroll inside their box).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(1500);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 391) throw new Error(`on a 390 px wide screen the page is ${width} px wide`);

  if (foreign.length) throw new Error(`the page asked other origins: ${foreign.join(", ")}`);
  if (errors.length) throw new Error(`the page raised errors: ${errors.join(" | ")}`);
  log("every check passed");
} catch (e) {
  failed = true;
  console.error(`[browser] FAILED: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
