/**
 * Where a fused recurrent layer keeps what its forward saves for the backward (every h_t, c_t,
 * tanh(c_t) and gate activation: ~13 MB for W5's LSTM) when the backend runs whole steps in its
 * own memory (extension recurrentStep: wasm, float32): in blocks of that memory, so the step
 * kernels read and write them in place instead of copying each step's rows in and out.
 *
 * The blocks are pooled and reused, because the backend's memory returns to it only when an array
 * is garbage-collected, which a training loop outruns (W5 reached the 384 MiB cap in ~30 steps).
 * A claim ends when its backward has run (or at once without a graph); its block is then free for
 * the next forward but keeps its contents until one takes it, so a second backward through the same
 * graph still works unless a later forward has reused the block, and then it throws. A claim whose
 * backward never runs ends when its owner is garbage-collected. Invariant: a block has at most one
 * claim, the latest `gen` handed out for it.
 */
import { allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import { kernelsFor } from '../backend/backend.js';
import { isDeviceStorage } from '../tensor/device.js';

interface Block {
  readonly data: HostStorage;
  /** The generation of the latest claim; claimed: whether it still holds. */
  gen: number;
  claimed: boolean;
}

/** A forward's hold on a block. */
export interface Claim {
  readonly block: Block;
  readonly gen: number;
}

/** Free and claimed blocks by backend and dtype; they live as long as the process, as the scratch blocks. */
const pools = new Map<string, Block[]>();
let generation = 0;

const finalizer = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<Claim>((c) => release(c)) : null;

/**
 * Arrays of `sizes` elements cut from one pooled block in the current backend's memory, and the
 * claim on it (see `endWith`); null when the backend does not run recurrent steps or keeps no
 * memory of its own for this dtype (then use plain typed arrays). Contents are stale: every user
 * writes before it reads.
 */
export function claimSaved(dtype: DType, sizes: number[]): { arrays: HostStorage[]; claim: Claim } | null {
  const kn = kernelsFor();
  if (!kn.ext.recurrentStep || !kn.ext.allocLike) return null;
  const total = sizes.reduce((a, b) => a + b, 0);
  const key = `${kn.backend.name} ${dtype}`;
  const pool = pools.get(key) ?? [];
  pools.set(key, pool);
  // the smallest free block that holds it (a layer's passes come back in the same sizes)
  let block: Block | null = null;
  for (const b of pool) if (!b.claimed && b.data.length >= total && (!block || b.data.length < block.data.length)) block = b;
  if (!block) {
    const own = kn.ext.allocLike(allocStorage(dtype, total));
    if (!own || isDeviceStorage(own)) return null;
    block = { data: own as HostStorage, gen: 0, claimed: false };
    pool.push(block);
  }
  block.gen = ++generation;
  block.claimed = true;
  const claim: Claim = { block, gen: block.gen };
  let at = 0;
  const data = block.data;
  const arrays = sizes.map((n) => {
    at += n;
    return data.subarray(at - n, at);
  });
  return { arrays, claim };
}

/** Ends the claim when `owner` is garbage-collected, if it has not ended before. */
export function endWith(owner: object, c: Claim): void {
  finalizer?.register(owner, c);
}

/** Ends the claim (a no-op when it has ended already): its block is free for the next forward. */
export function release(c: Claim): void {
  if (c.block.gen === c.gen) c.block.claimed = false;
}

/** Claims the block again for another backward through the same graph; throws when a later forward has taken it. */
export function reclaim(c: Claim, what: string): void {
  if (c.block.gen !== c.gen)
    throw new Error(
      `${what}: a later forward reused the memory this graph's fused layer saved, after its first backward; run backward once per forward, or build the layer with { fused: false } to run it again`,
    );
  c.block.claimed = true;
}
