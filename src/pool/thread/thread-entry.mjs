// The first file a pool thread loads. Plain JavaScript on purpose: it must load without a
// TypeScript loader. When the pool runs from source it registers tsx here, synchronously, before
// importing anything TypeScript; passing `--import tsx` in the thread's execArgv instead races the
// loader's registration against piscina's import on Node 20 ("Unknown file extension .ts", seen
// intermittently), so it is not used.
import { workerData } from 'node:worker_threads';

if (workerData.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}

const runtime = await import(workerData.runtime);

export default runtime.default;
