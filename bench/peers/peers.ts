import type { BenchContext } from '../context.js';
export async function measurePeers(_ctx: BenchContext): Promise<void> {}
