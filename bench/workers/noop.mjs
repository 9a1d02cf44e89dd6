// Raw piscina peer of workers/noop.ts: returns its input. Plain JavaScript, like the dist/ build the
// pool runs, so neither side pays a TypeScript loader.
export default function noop(input) {
  return input;
}
