// Renders azleak HTML reports in headless Chromium (puppeteer-core, the system's chromium) and
// checks them as a reader would use them. Run by scripts/check-html.sh; not part of cargo test.
//   node check-html.mjs CHROMIUM KNOWN.html BIG.html SCREENSHOT.png EXPECTED_BIG_ROWS
import puppeteer from "puppeteer-core";
import { pathToFileURL } from "node:url";

const [chromium, known, big, shot, bigRows] = process.argv.slice(2);
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps"],
});

/// Opens a report; every request other than the page itself is recorded and aborted.
async function open(file) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 768 });
  const url = pathToFileURL(file).href;
  const requests = [], errors = [];
  await page.setRequestInterception(true);
  page.on("request", (r) => {
    if (r.url() === url) return r.continue();
    requests.push(r.url());
    return r.abort();
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
  });
  const t0 = performance.now();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.documentElement.dataset.ready === "1", { timeout: 30000 });
  const openMs = performance.now() - t0;
  return { page, requests, errors, openMs };
}

const visible = (page) => page.$$eval("#findings tbody tr", (rows) =>
  rows.filter((r) => getComputedStyle(r).display !== "none").map((r) => ({
    rule: r.dataset.rule, loc: r.cells[0].textContent, secret: r.cells[3].textContent, author: r.dataset.author })));

async function setSelect(page, id, value) {
  return page.evaluate((id, value) => {
    const t0 = performance.now();
    const el = document.getElementById(id);
    el.value = value;
    el.dispatchEvent(new Event("change"));
    document.body.getBoundingClientRect(); // include style and layout
    return performance.now() - t0;
  }, id, value);
}

// 1. The known scan.
{
  const { page, requests, errors } = await open(known);
  const rows = await visible(page);
  console.log(rows.map((r) => `     ${r.loc}  ${r.rule}  ${r.secret}`).join("\n"));
  check(rows.length === 3, `known report renders its 3 rows (got ${rows.length})`);
  check(rows.some((r) => r.loc.startsWith("<img src=x onerror=alert(1)>/app.env:")),
    "the XSS-ish path is shown as text");
  check(await page.$("#findings img") === null, "no element was injected by the path");
  check(rows.every((r) => r.secret.endsWith("…")), "secrets are redacted");
  await setSelect(page, "f-rule", "azure.entra.client-secret.legacy");
  let shown = await visible(page);
  check(shown.length === 1 && shown[0].rule === "azure.entra.client-secret.legacy",
    `filtering by rule shows only that rule (${shown.map((r) => r.rule)})`);
  check((await page.$eval("#count", (e) => e.textContent)) === "1 of 3 findings match", "count updated");
  await setSelect(page, "f-rule", "");
  await page.type("#f-q", "legacy.env");
  shown = await visible(page);
  check(shown.length === 1 && shown[0].loc.startsWith("legacy.env:"), `the text filter matches paths (${shown.map((r) => r.loc)})`);
  await page.$eval("#f-q", (e) => { e.value = ""; e.dispatchEvent(new Event("input")); });
  await page.click("#findings thead th:nth-child(1) button");
  const asc = (await visible(page)).map((r) => r.loc);
  await page.click("#findings thead th:nth-child(1) button");
  const desc = (await visible(page)).map((r) => r.loc);
  check(asc.length === 3 && JSON.stringify(asc) === JSON.stringify([...desc].reverse()),
    "sorting by location toggles ascending / descending");
  await page.click("#by-rule [data-set-rule='azure.entra.client-secret']");
  shown = await visible(page);
  check(shown.length === 2 && shown.every((r) => r.rule === "azure.entra.client-secret"),
    "clicking a rule in the summary filters the table");
  await setSelect(page, "f-rule", "");
  await page.click("#by-author [data-set-author='Bob Builder <bob.builder@example.com>']");
  shown = await visible(page);
  check(shown.length === 2 && !shown.some((r) => r.loc.startsWith("<img")),
    "clicking an author in the summary filters the table");
  await setSelect(page, "f-author", "");
  const bars = await page.$$eval(".timeline button", (b) => b.map((x) => x.dataset.month));
  check(JSON.stringify(bars) === JSON.stringify(["2024-01", "2024-02", "2024-03"]),
    `the timeline has a bar per month from the first to the last (${bars})`);
  await page.click(".timeline button[data-month='2024-03']");
  shown = await visible(page);
  check(shown.length === 2 && (await page.$eval("#f-period", (e) => !e.hidden)),
    "clicking a month of the timeline shows the secrets that entered then");
  await page.click("#f-period");
  check((await visible(page)).length === 3, "clearing the month shows all again");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: shot, fullPage: false });
  console.log(`     screenshot: ${shot}`);
  const csp = await page.evaluate(() => window.__csp);
  check(requests.length === 0, `no network request (${requests.join(", ")})`);
  check(csp.length === 0, `no Content-Security-Policy violation (${csp.join(", ")})`);
  check(errors.length === 0, `no script error (${errors.join("; ")})`);
  await page.close();
}

// 2. The big report: open and filter time.
{
  const { page, requests, errors, openMs } = await open(big);
  const total = await page.$$eval("#findings tbody tr", (r) => r.length);
  check(total === Number(bigRows), `big report has ${bigRows} rows (got ${total})`);
  const filterMs = await setSelect(page, "f-rule", "azure.entra.client-secret.legacy");
  const shown = await visible(page);
  const counted = await page.$eval("#count", (e) => e.textContent);
  check(counted === `2500 of ${total} findings match; showing the first 500` && shown.length === 500 &&
    shown.every((r) => r.rule === "azure.entra.client-secret.legacy"),
    `filtering the big report by rule: ${counted}, ${shown.length} rows laid out`);
  await page.click("#more");
  check((await visible(page)).length === 1000, "show more lays out 500 more rows");
  const searchMs = await page.evaluate(() => {
    const t0 = performance.now(), q = document.getElementById("f-q");
    q.value = "dir-7"; q.dispatchEvent(new Event("input")); document.body.getBoundingClientRect();
    return performance.now() - t0;
  });
  check(requests.length === 0 && errors.length === 0, "big report: no request, no error");
  const sum = openMs + filterMs;
  console.log(`     ${total} findings: open ${openMs.toFixed(0)} ms, filter by rule ${filterMs.toFixed(0)} ms, ` +
    `text filter ${searchMs.toFixed(0)} ms; open + filter ${sum.toFixed(0)} ms (target < 2000 ms)` +
    (sum < 2000 ? "" : "  TARGET MISSED"));
  // Not a pass/fail on speed (the machine is shared); only a hang fails.
  check(sum < 30000, "big report opens and filters");
  await page.close();
}

await browser.close();
console.log(failures === 0 ? "html checks: all passed" : `html checks: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
