// The browser suite: playwright-core drives Debian's Chromium through the
// test page (tests/browser/page.tsx), whose calls reach the real plugin
// backend through the bridge. Run by tests/browser.rs, which sets:
//   BRIDGE_URL         the bridge, e.g. http://127.0.0.1:41234
//   BRIDGE_UID         the datasource uid
//   SIMULATOR_TARGETS  two simulators' /metrics URLs, comma separated
//   SCREENSHOT_DIR     where screenshots go
//   FAILURE_DIR        where screenshots of failed steps go
//   CHROMIUM           the browser executable
// Chromium runs headless with a fresh temporary profile. Every wait is bounded; a failed step fails the run with its reason.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set (run the suite with: cargo test --test browser)`);
  }
  return v;
};

const base = env('BRIDGE_URL');
const uid = env('BRIDGE_UID');
const targets = env('SIMULATOR_TARGETS').split(',');
const shots = env('SCREENSHOT_DIR');
const failureShots = env('FAILURE_DIR');
const executablePath = env('CHROMIUM');
const WAIT = 20_000;
mkdirSync(shots, { recursive: true });
mkdirSync(failureShots, { recursive: true });

const api = (path) => `${base}/api/datasources/uid/${uid}${path}`;

function check(ok, message) {
  if (!ok) {
    throw new Error(message);
  }
}

async function json(res, what) {
  const body = await res.text();
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`${what}: not JSON (${res.status()}): ${body}`);
  }
}

/** Direct mode over both simulators, saved through the bridge's datasource API. */
const DIRECT = { mode: 'direct', targets, scrapeInterval: '1s', timeInterval: '1s', timeout: 1 };

async function configure(request, jsonData, url = '') {
  const now = await json(await request.get(api('')), 'settings');
  if (now.url === url && JSON.stringify(now.jsonData) === JSON.stringify(jsonData)) {
    return;
  }
  const res = await request.put(api(''), { data: { url, jsonData, secureJsonData: {} } });
  check(res.ok(), `saving settings failed: ${res.status()} ${await res.text()}`);
}

/** Polls a resource of the plugin until `accept` takes its answer (bounded). */
async function resourceWhen(request, path, accept, what) {
  const deadline = Date.now() + WAIT;
  let last = '';
  while (Date.now() < deadline) {
    const res = await request.get(api(`/resources/${path}`));
    if (res.ok()) {
      const body = await json(res, path);
      if (accept(body)) {
        return body;
      }
      last = JSON.stringify(body).slice(0, 200);
    } else {
      last = `${res.status()} ${await res.text()}`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last answer: ${last}`);
}

/** Polls /api/ds/query until `expr` has series (the scrapes have landed; bounded). */
async function dataFor(request, expr) {
  const deadline = Date.now() + WAIT;
  let last = '';
  while (Date.now() < deadline) {
    const now = Date.now();
    const res = await request.post(`${base}/api/ds/query`, {
      data: { from: String(now - 300_000), to: String(now), queries: [{ refId: 'A', expr, range: true, intervalMs: 1000 }] },
    });
    const body = await json(res, 'ds/query');
    const frames = body.results?.A?.frames ?? [];
    if (res.ok() && frames.some((f) => (f.data?.values?.[0] ?? []).length > 0)) {
      return;
    }
    last = JSON.stringify(body).slice(0, 200);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for data of ${expr}; last answer: ${last}`);
}

async function shot(page, name, fullPage = false) {
  await page.screenshot({ path: join(shots, name), animations: 'disabled', caret: 'hide', fullPage });
}

async function healthAfterSave(page) {
  await page.getByRole('button', { name: 'Save & test' }).click();
  const health = page.getByTestId('health');
  await health.waitFor({ timeout: WAIT });
  return { status: await health.getAttribute('data-status'), message: (await health.innerText()).trim() };
}

async function openConfig(page) {
  await page.goto(`${base}/?editor=config&uid=${uid}`);
  await page.getByTestId('config-page').waitFor({ timeout: WAIT });
}

/** Picks `text` in the @grafana/ui Select whose input has `id`. */
async function choose(page, id, text) {
  await page.locator(`#${id}`).click();
  await page.locator(`#${id}`).fill(text);
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await page.getByRole('option').filter({ hasText: new RegExp(`^${escaped}$`) }).first().click();
}

async function openQuery(page) {
  await page.goto(`${base}/?editor=query&uid=${uid}`);
  // The code field is @grafana/ui's CodeEditor: Monaco, loaded from the page's lib/monaco.
  await page.locator(CODE_LINES).waitFor({ timeout: WAIT });
  await page.getByRole('textbox', { name: 'PromQL expression' }).waitFor({ state: 'attached', timeout: WAIT });
}

const CODE_LINES = '[data-testid=promql-editor] .monaco-editor .view-lines';
const SUGGESTION = '.suggest-widget .monaco-list-row';

/** The code field's text, from its Monaco editor. */
async function code(page) {
  return page.evaluate(() => {
    const editors = globalThis.monaco?.editor.getEditors() ?? [];
    if (editors.length !== 1) {
      throw new Error(`${editors.length} Monaco editors on the page`);
    }
    return editors[0].getValue();
  });
}

/** Focuses the code field, at the end of its text. */
async function focusCode(page) {
  // Away from the mode switch first: its tooltip would cover the field.
  await page.mouse.move(0, 0);
  await page.locator(CODE_LINES).click();
  await page.keyboard.press('Control+End');
}

/** Replaces the code field's text (as a paste would). */
async function setCode(page, text) {
  await focusCode(page);
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
  await page.keyboard.press('Escape');
}

/** The labels of the open suggest widget, in order, once `accept` takes them (bounded). */
async function suggestions(page, accept, what) {
  const deadline = Date.now() + WAIT;
  let last = [];
  while (Date.now() < deadline) {
    last = await page.evaluate(
      (row) =>
        [...document.querySelectorAll(row)]
          .filter((r) => r.offsetParent !== null)
          .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
          .map((r) => r.querySelector('.label-name')?.textContent ?? ''),
      SUGGESTION
    );
    if (last.length > 0 && accept(last)) {
      return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} in the suggest widget; it shows: ${last.join(', ') || 'nothing'}`);
}

/** The label of the suggestion the keyboard is on. */
async function focusedSuggestion(page) {
  return page.locator(`${SUGGESTION}.focused .label-name`).innerText();
}

async function results(page) {
  const panel = page.getByTestId('results');
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid=results]');
      return el && ['Done', 'Error'].includes(el.getAttribute('data-state') ?? '');
    },
    undefined,
    { timeout: WAIT }
  );
  return {
    state: await panel.getAttribute('data-state'),
    names: await page.getByRole('list', { name: 'Series' }).locator('li').allInnerTexts(),
  };
}

const scenarios = {
  async 'config: direct mode with two simulators, Save & test'(page) {
    await configure(page.request, { mode: 'prometheus' });
    await openConfig(page);
    await page.getByRole('radio', { name: 'Direct' }).click();
    for (let i = 0; i < targets.length; i++) {
      await page.getByRole('button', { name: 'Add target' }).click();
      await page.getByLabel(`Target ${i + 1}`, { exact: true }).fill(targets[i]);
    }
    await page.locator('#config-scrape-interval').fill('1s');
    await page.locator('#config-timeout').fill('1');
    const health = await healthAfterSave(page);
    check(health.status === 'success', `health check failed: ${health.message}`);
    check(health.message !== '', 'the health check said nothing');
    const saved = await json(await page.request.get(api('')), 'settings');
    check(
      JSON.stringify(saved.jsonData.targets) === JSON.stringify(targets) && saved.jsonData.mode === 'direct',
      `saved settings differ: ${JSON.stringify(saved.jsonData)}`
    );
    await page.mouse.move(0, 0);
    await shot(page, 'config-editor.png', true);
    return health.message;
  },

  async 'config: an invalid URL shows the editor and backend messages'(page) {
    await configure(page.request, { mode: 'prometheus' });
    await openConfig(page);
    await page.locator('#config-url').fill('not a url');
    await page.getByText('Must be an http:// or https:// URL').waitFor({ timeout: WAIT });
    const health = await healthAfterSave(page);
    check(health.status === 'error', `an invalid URL passed the health check: ${health.message}`);
    // The message shown is the backend's own answer.
    const direct = await json(await page.request.get(api('/health')), 'health');
    check(health.message.includes(direct.message), `shown "${health.message}", the backend says "${direct.message}"`);
    return health.message;
  },

  async 'config: one host:port under two paths is flagged by the editor and the backend'(page) {
    await configure(page.request, { mode: 'direct' });
    await openConfig(page);
    const other = targets[0].replace(/\/metrics$/, '/other');
    for (const [i, t] of [targets[0], other].entries()) {
      await page.getByRole('button', { name: 'Add target' }).click();
      await page.getByLabel(`Target ${i + 1}`, { exact: true }).fill(t);
    }
    await page.getByText('Same host:port as target 1').waitFor({ timeout: WAIT });
    const health = await healthAfterSave(page);
    check(health.status === 'error', `two targets on one host:port passed: ${health.message}`);
    check(health.message.includes('same host:port'), `unexpected backend message: ${health.message}`);
    return health.message;
  },

  async 'config: TLS client authentication without a key is refused by the editor and the backend'(page) {
    await configure(page.request, { mode: 'prometheus' }, 'https://127.0.0.1:1');
    await openConfig(page);
    // @grafana/ui's Switch: the label is the visible toggle.
    await page.locator('label[for="config-tls-auth"][aria-label="Toggle switch"]').click();
    await page.getByText(/Required for TLS client authentication: paste the PEM private key/).waitFor({ timeout: WAIT });
    await page.locator('#config-tls-client-cert').fill('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----');
    const health = await healthAfterSave(page);
    check(health.status === 'error', `tlsAuth without a key passed: ${health.message}`);
    check(health.message.includes('tlsClient'), `unexpected backend message: ${health.message}`);
    const saved = await json(await page.request.get(api('')), 'settings');
    check(saved.jsonData.tlsAuth === true && saved.secureJsonFields.tlsClientCert === true, 'tlsAuth was not saved');
    return health.message;
  },

  async 'query: type a metric and pick completions from the plugin'(page) {
    await configure(page.request, DIRECT);
    const names = await resourceWhen(
      page.request,
      'metric-names',
      (v) => Array.isArray(v) && v.some((n) => n.startsWith('vllm:')),
      'scraped vllm: metric names'
    );
    // The metric to pick: the first vLLM gauge of the catalog, per model, that is offered.
    const catalog = await json(await page.request.get(api('/resources/catalog')), 'catalog');
    const gauges = catalog
      .filter((e) => (e.type ?? e.kind) === 'gauge' && (e.labels ?? []).includes('model_name'))
      .map((e) => e.name);
    await openQuery(page);
    await focusCode(page);
    await page.keyboard.type('vllm:');
    const offered = await suggestions(
      page,
      (items) => items.every((n) => n.startsWith('vllm:')),
      'metric names starting with vllm:'
    );
    for (const name of offered) {
      check(names.includes(name), `completion "${name}" is not a metric the plugin reports`);
    }
    const pick = offered.findIndex((n) => gauges.includes(n));
    check(pick >= 0, `no catalog gauge among the completions ${offered}`);
    const metric = offered[pick];
    await dataFor(page.request, metric);
    for (let i = 0; i < pick; i++) {
      await page.keyboard.press('ArrowDown');
    }
    check((await focusedSuggestion(page)) === metric, `the widget is on "${await focusedSuggestion(page)}", not "${metric}"`);
    await page.mouse.move(0, 0);
    await shot(page, 'query-completion.png');
    await page.keyboard.press('Enter');
    check((await code(page)) === metric, `accepting gave "${await code(page)}", not "${metric}"`);
    // Labels, then values, of that metric: from the plugin too.
    await page.keyboard.type('{');
    await suggestions(page, (items) => items.includes('model_name'), 'the label model_name');
    await page
      .locator(SUGGESTION)
      .filter({ has: page.locator('.label-name', { hasText: /^model_name$/ }) })
      .click();
    await page.keyboard.type('="');
    const known = await json(
      await page.request.get(api(`/resources/label-values?label=model_name&match[]=${encodeURIComponent(metric)}`)),
      'label-values'
    );
    const models = await suggestions(page, (items) => items.every((m) => known.includes(m)), `the models ${known}`);
    await page.keyboard.press('Enter');
    let expr = await code(page);
    check(expr.startsWith(`${metric}{model_name="${models[0]}"`), `completed expression "${expr}"`);
    if (!expr.endsWith('}')) {
      await page.keyboard.press('End');
      await page.keyboard.type('}');
    }
    // A function around it, typed: highlighted unlike the string.
    await page.keyboard.press('Home');
    await page.keyboard.type('abs(');
    await page.keyboard.press('Escape');
    await page.keyboard.press('End');
    await page.keyboard.type(')');
    expr = await code(page);
    check(expr === `abs(${metric}{model_name="${models[0]}"})`, `typed expression "${expr}"`);
    const tokens = await page.evaluate(
      (lines) =>
        [...document.querySelectorAll(`${lines} span[class^=mtk]`)].map((s) => [s.textContent, s.className]),
      CODE_LINES
    );
    const classOf = (pred) => tokens.find(([t]) => pred(t))?.[1];
    const fn = classOf((t) => t === 'abs');
    const str = classOf((t) => t.includes(models[0]));
    const label = classOf((t) => t === 'model_name');
    check(fn && str && label, `tokens not found: ${JSON.stringify(tokens)}`);
    check(new Set([fn, str, label]).size === 3, `function, label and string share colours: ${fn}, ${label}, ${str}`);
    await page.keyboard.press('Shift+Enter');
    const got = await results(page);
    check(got.state === 'Done', `the query failed: ${await page.innerText('body')}`);
    check(got.names.length > 0, `no series for ${expr}`);
    check(got.names.every((n) => n.includes(models[0])), `series ${got.names} are not all of ${models[0]}`);
    return `${expr} (function ${fn}, label ${label}, string ${str}) -> ${got.names.length} series`;
  },

  async 'query: pick a catalog metric, run it, see the series names'(page) {
    await configure(page.request, DIRECT);
    const names = await resourceWhen(page.request, 'metric-names', (v) => v.length > 0, 'metric names');
    const catalog = await json(await page.request.get(api('/resources/catalog')), 'catalog');
    const entry = catalog.find((e) => e.name.startsWith('vllm:') && names.includes(e.name) && (e.type ?? e.kind) === 'gauge');
    check(entry, 'no vLLM gauge of the catalog among the scraped metrics');
    await dataFor(page.request, entry.name);
    await openQuery(page);
    await page.locator('#vllm-metric-picker').click();
    await page.locator('#vllm-metric-picker').fill(entry.name);
    const option = page.getByRole('option').filter({ hasText: entry.name }).first();
    await option.waitFor({ timeout: WAIT });
    await page.mouse.move(0, 0);
    await shot(page, 'query-catalog.png');
    await option.click();
    const expr = await code(page);
    check(expr === (entry.suggestedQuery ?? entry.promql ?? entry.name), `picked "${entry.name}", got "${expr}"`);
    const got = await results(page);
    check(got.state === 'Done', `the query failed: ${await page.innerText('body')}`);
    check(got.names.length > 0, `no series for ${expr}`);
    await page.mouse.move(0, 0);
    await shot(page, 'query-editor.png');
    return `${entry.name}: ${got.names.join(', ')}`;
  },

  async 'query: compose a selector in the metrics browser'(page) {
    await configure(page.request, DIRECT);
    const names = await resourceWhen(page.request, 'metric-names', (v) => v.length > 0, 'metric names');
    const catalog = await json(await page.request.get(api('/resources/catalog')), 'catalog');
    const entry = catalog.find(
      (e) => (e.type ?? e.kind) === 'gauge' && (e.labels ?? []).includes('model_name') && names.includes(e.name)
    );
    check(entry, 'no per-model gauge of the catalog among the scraped metrics');
    await dataFor(page.request, entry.name);
    await openQuery(page);
    await page.getByRole('button', { name: 'Metrics browser' }).click();
    const browser = page.getByTestId('metrics-browser');
    await browser.getByLabel('Filter metrics').fill(entry.name);
    await browser.getByRole('list', { name: 'Metrics' }).getByRole('button', { name: entry.name, exact: true }).click();
    await browser.getByRole('list', { name: 'Labels' }).getByRole('button', { name: 'model_name', exact: true }).click();
    const values = browser.getByRole('list', { name: 'Values of model_name' }).getByRole('button');
    await values.first().waitFor({ timeout: WAIT });
    const models = await values.allInnerTexts();
    const known = await json(
      await page.request.get(api(`/resources/label-values?label=model_name&match[]=${encodeURIComponent(entry.name)}`)),
      'label-values'
    );
    check(JSON.stringify(models) === JSON.stringify(known), `browser values ${models} vs the plugin's ${known}`);
    for (let i = 0; i < models.length; i++) {
      await values.nth(i).click();
    }
    const selector = (await browser.getByLabel('Selector').innerText()).trim();
    check(selector.startsWith(`${entry.name}{model_name=`), `selector "${selector}"`);
    await page.mouse.move(0, 0);
    await shot(page, 'metrics-browser.png');
    await browser.getByRole('button', { name: 'Use query' }).click();
    check((await code(page)) === selector, `the field holds "${await code(page)}"`);
    const got = await results(page);
    check(got.state === 'Done' && got.names.length > 0, `no series for ${selector}: ${await page.innerText('body')}`);
    for (const model of models) {
      check(got.names.some((n) => n.includes(model)), `no series of ${model} in ${got.names}`);
    }
    return `${selector} -> ${got.names.length} series`;
  },

  async 'query: build a query, switch to code and back'(page) {
    await configure(page.request, DIRECT);
    const names = await resourceWhen(page.request, 'metric-names', (v) => v.length > 0, 'metric names');
    const catalog = await json(await page.request.get(api('/resources/catalog')), 'catalog');
    const entry = catalog.find(
      (e) => (e.type ?? e.kind) === 'counter' && (e.labels ?? []).includes('model_name') && names.includes(e.name)
    );
    check(entry, 'no per-model counter of the catalog among the scraped metrics');
    const models = await json(await page.request.get(api('/resources/label-values?label=model_name')), 'label-values');
    const built = `sum by (model_name) (rate(${entry.name}[$__rate_interval]))`;
    // A rate needs two scrapes in its window.
    await dataFor(page.request, built);
    await openQuery(page);
    await page.getByRole('radio', { name: 'Builder' }).click();
    await page.getByTestId('query-builder').waitFor({ timeout: WAIT });
    await choose(page, 'builder-metric', entry.name);
    await choose(page, 'builder-range-function', 'rate');
    await choose(page, 'builder-aggregation', 'sum');
    await choose(page, 'builder-by', 'model_name');
    const raw = page.getByLabel('Built query');
    check((await raw.innerText()).trim() === built, `built "${await raw.innerText()}", not "${built}"`);
    await page.waitForFunction(
      (n) => document.querySelectorAll('[aria-label="Series"] li').length === n,
      models.length,
      { timeout: WAIT }
    );
    const got = await results(page);
    check(got.state === 'Done', `the built query failed: ${await page.innerText('body')}`);
    for (const model of models) {
      check(got.names.some((n) => n.includes(model)), `no series of ${model} in ${got.names}`);
    }
    await page.mouse.move(0, 0);
    await shot(page, 'query-builder.png');

    // To code: the same query, editable; back to the builder with an edit.
    await page.getByRole('radio', { name: 'Code' }).click();
    await page.locator(CODE_LINES).waitFor({ timeout: WAIT });
    check((await code(page)) === built, `code shows "${await code(page)}"`);
    await setCode(page, built.replace(/^sum/, 'max'));
    await page.getByRole('radio', { name: 'Builder' }).click();
    await page.getByTestId('query-builder').waitFor({ timeout: WAIT });
    check((await raw.innerText()).trim() === built.replace(/^sum/, 'max'), `builder shows "${await raw.innerText()}"`);

    // What the builder cannot show stays in code.
    await page.getByRole('radio', { name: 'Code' }).click();
    await setCode(page, `sum(${entry.name}) / 2`);
    await page.getByRole('radio', { name: 'Builder' }).click();
    await page.getByText('This query cannot be shown in the builder: edit it as code.').waitFor({ timeout: WAIT });
    check((await code(page)) === `sum(${entry.name}) / 2`, 'the code was changed');
    return `${built} -> ${got.names.join(', ')}`;
  },

  async 'variables: pick a label from the plugin and preview its values'(page) {
    await configure(page.request, DIRECT);
    await resourceWhen(page.request, 'labels', (v) => Array.isArray(v) && v.includes('model_name'), 'the model_name label');
    const models = await json(await page.request.get(api('/resources/label-values?label=model_name')), 'label-values');
    await page.goto(`${base}/?editor=variables&uid=${uid}`);
    await page.getByTestId('variables-page').waitFor({ timeout: WAIT });
    await page.locator('#variable-label').click();
    await page.locator('#variable-label').fill('model_name');
    await page.getByRole('option').filter({ hasText: /^model_name$/ }).first().click();
    const preview = page.getByRole('list', { name: 'Preview of values' });
    await page.waitForFunction(
      (n) => document.querySelectorAll('[aria-label="Preview of values"] li').length === n,
      models.length,
      { timeout: WAIT }
    );
    const shown = await preview.locator('li').allInnerTexts();
    check(JSON.stringify(shown) === JSON.stringify(models), `preview ${shown} vs the plugin's ${models}`);
    const query = await page.getByTestId('preview').getAttribute('data-query');
    check(query === 'label_values(model_name)', `variable query "${query}"`);
    await page.mouse.move(0, 0);
    await shot(page, 'variable-editor.png');
    return `${query} -> ${shown.join(', ')}`;
  },

  async 'query: bad PromQL shows the backend message'(page) {
    await configure(page.request, DIRECT);
    await openQuery(page);
    await focusCode(page);
    // Typed: the editor closes the brackets, giving sum(rate()).
    await page.keyboard.type('sum(rate(');
    await page.keyboard.press('Escape');
    const bad = await code(page);
    check(bad.startsWith('sum(rate('), `typed "${bad}"`);
    await page.keyboard.press('Shift+Enter');
    const got = await results(page);
    check(got.state === 'Error', `"${bad}" did not fail`);
    const alert = page.getByRole('alert').filter({ hasText: 'Query error' });
    await alert.waitFor({ timeout: WAIT });
    const now = Date.now();
    const res = await page.request.post(`${base}/api/ds/query`, {
      data: { from: String(now - 300_000), to: String(now), queries: [{ refId: 'A', expr: bad, range: true }] },
    });
    const answer = await json(res, 'ds/query');
    const message = answer.results?.A?.error;
    check(typeof message === 'string' && message !== '', `the backend gave no error: ${JSON.stringify(answer)}`);
    const shown = await alert.innerText();
    check(shown.includes(message), `shown "${shown}", the backend says "${message}"`);
    return message;
  },
};

const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout: 60_000,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const failures = [];
try {
  for (const [name, run] of Object.entries(scenarios)) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1, colorScheme: 'dark', reducedMotion: 'reduce' });
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // The last answers to queries, shown when a step fails.
    const answers = [];
    page.on('response', async (r) => {
      if (r.url().includes('/api/ds/query')) {
        answers.push(`${r.status()} ${(await r.text().catch(() => '')).slice(0, 400)}`);
      }
    });
    const started = Date.now();
    try {
      const said = await run(page);
      check(errors.length === 0, `errors on the page: ${errors.join('; ')}`);
      console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${said}`);
    } catch (e) {
      failures.push(name);
      console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
      for (const a of answers.slice(-3)) {
        console.log(`  query answer: ${a}`);
      }
      await page.screenshot({ path: join(failureShots, `failed-${failures.length}.png`) }).catch(() => undefined);
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
}
console.log(`${Object.keys(scenarios).length - failures.length} of ${Object.keys(scenarios).length} browser scenarios passed`);
if (failures.length > 0) {
  console.log(`screenshots of the failures: ${failureShots}`);
  process.exit(1);
}
