// The Control tab: telemetry sampling rules and log levels, through the guarded control API, and
// the header's token state (the control API is the page's probe of whether the token works).
import { api, token } from './status-api.js';
import { $, addOptions, el, fillTable, say } from './status-dom.js';

let currentRules = [];
// Without a token, a 401 will not change by itself: stop asking every tick until a token is entered.
let deniedWithoutToken = false;
const ruleKey = (r) => `${r.pattern}|${r.scope.pool ?? ''}|${r.scope.worker ?? ''}`;

/** A new token was entered or forgotten: ask again. */
export function tokenChanged() {
  deniedWithoutToken = false;
  currentRules = [];
}

export async function refreshControl() {
  if (deniedWithoutToken && token() === '') return;
  try {
    const [telemetry, levels] = await Promise.all([api('GET', '/control/telemetry'), api('GET', '/control/log-levels')]);
    currentRules = telemetry.rules;
    $('token-state').textContent = token() === '' ? 'open locally' : 'token accepted';
    $('rules-version').textContent = `version ${telemetry.version}`;
    fillTable('rules', currentRules, (r) => {
      const remove = el('button', 'remove');
      remove.type = 'button';
      // By key, not identity: the table may have been refreshed since this button was drawn.
      remove.addEventListener('click', () => putRules(currentRules.filter((x) => ruleKey(x) !== ruleKey(r)), `removed ${r.pattern}`));
      return [{ text: r.pattern, cls: 'mono' }, r.rate, r.enabled ? 'yes' : 'no', r.scope.pool ?? 'any', r.scope.worker ?? 'any', remove];
    }, 'no rules: every event is kept');
    $('levels-version').textContent = `version ${levels.version}`;
    const parts = [`default=${levels.default}`, ...Object.entries(levels.categories).map(([c, l]) => `${c}=${l}`), ...Object.entries(levels.workers).map(([w, l]) => `${w}=${l}`)];
    $('levels').textContent = parts.join('  ');
  } catch (error) {
    currentRules = [];
    fillTable('rules', [], () => [], '–');
    $('levels').textContent = '';
    deniedWithoutToken = error.status === 401 && token() === '';
    $('token-state').textContent = error.status === 401 ? (token() === '' ? 'enter the control token to see and change rules' : 'token refused') : `control API: ${error.message}`;
  }
}

async function putRules(rules, done) {
  try {
    const body = { rules: rules.map((r) => ({ pattern: r.pattern, rate: r.rate, enabled: r.enabled, scope: { pool: r.scope.pool, worker: r.scope.worker } })) };
    const result = await api('PUT', '/control/telemetry', body);
    say(`${done} · rules version ${result.version}`, true);
  } catch (error) {
    say(`not changed: ${error.message}`, false);
  }
  await refreshControl();
}

// Choices for the control forms: filled once (and pools as they appear), keeping what the user picked.
export function fillControlChoices(data) {
  const patterns = $('patterns');
  if (patterns.children.length === 0) patterns.append(...data.vocabulary.patterns.map((p) => { const o = el('option'); o.value = p; return o; }));
  const target = $('level-target');
  if (target.options.length === 1) addOptions(target, data.vocabulary.logCategories);
  const level = $('level-value');
  if (level.options.length === 0) {
    addOptions(level, data.vocabulary.logLevels);
    level.value = 'info';
  }
  addOptions($('rule-pool'), data.pools.map((p) => p.name));
}

$('rule-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const pattern = $('rule-pattern').value.trim();
  const rate = Number($('rule-rate').value);
  const pool = $('rule-pool').value || null;
  const worker = $('rule-worker').value.trim() || null;
  const enabled = $('rule-enabled').checked;
  await refreshControl(); // change the newest table, not the one drawn a second ago
  const rule = { pattern, rate, enabled, scope: { pool, worker } };
  const same = (r) => ruleKey(r) === ruleKey(rule);
  const rules = currentRules.some(same) ? currentRules.map((r) => (same(r) ? rule : r)) : [...currentRules, rule];
  await putRules(rules, `set ${pattern} to rate ${rate}${pool === null ? '' : ` in pool ${pool}`}`);
});

$('level-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const target = $('level-target').value;
  const level = $('level-value').value;
  const change = target === '*' ? { default: level } : { categories: { [target]: level } };
  try {
    const result = await api('PUT', '/control/log-levels', change);
    say(`log level of ${target === '*' ? 'default' : target} set to ${level} · version ${result.version}`, true);
  } catch (error) {
    say(`not changed: ${error.message}`, false);
  }
  await refreshControl();
});
