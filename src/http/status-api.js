/* global sessionStorage, fetch */
// The page's calls to the supervisor: the token the operator typed is kept in sessionStorage (gone
// when the tab closes) and sent as a bearer token with every request.

const TOKEN_KEY = 'pitboss.controlToken';

export const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';
export const setToken = (value) => sessionStorage.setItem(TOKEN_KEY, value);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** GET/POST/PUT/DELETE as JSON; rejects with the server's reason and `status` on a non-2xx answer. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (token() !== '') headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(json.reason ?? `${response.status} ${response.statusText}`), { status: response.status });
  return json;
}
