// Raw spawn peer of a pool thread restart: a bare Worker that imports a worker module (the same
// module the pool's threads load, from workerData.module) and says it is ready.
import { parentPort, workerData } from 'node:worker_threads';

await import(workerData.module);
parentPort.postMessage('ready');
