/**
 * Fused optimizer updates: one pass over parameter, gradient and state, 4 lanes at a time, so an
 * update is bound by memory bandwidth. The equations (and their order of operations) are PyTorch
 * 1.13's single-tensor Adam/AdamW and SGD; scalars that depend only on the step (bias corrections)
 * are computed once by the caller.
 */

/**
 * Adam / AdamW on n floats.
 *   g ← −g if maximize;  p ← p·(1 − lr·wd) if decoupled, else g ← g + wd·p
 *   m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   vmax ← max(vmax, v) if amsgrad (vmax ≠ 0)
 *   p ← p − stepSize · m / (√v̂ / bc2Sqrt + ε)     with stepSize = lr / (1 − β1ᵗ), bc2Sqrt = √(1 − β2ᵗ)
 */
export function adam(p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
                     lr: f64, beta1: f64, beta2: f64, eps: f64, wd: f64, decoupled: bool, maximize: bool,
                     stepSize: f64, bc2Sqrt: f64): void {
  const b1 = f32x4.splat(<f32>beta1), c1 = f32x4.splat(<f32>(1 - beta1));
  const b2 = f32x4.splat(<f32>beta2), c2 = f32x4.splat(<f32>(1 - beta2));
  const e = f32x4.splat(<f32>eps), s = f32x4.splat(<f32>stepSize), bc = f32x4.splat(<f32>bc2Sqrt);
  const w = f32x4.splat(<f32>wd), decay = f32x4.splat(<f32>(1 - lr * wd));
  const coupled = !decoupled && wd != 0, dec = decoupled && wd != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i * 4;
    let pv = v128.load(p + off);
    let gv = v128.load(g + off);
    if (maximize) gv = f32x4.neg(gv);
    if (dec) pv = f32x4.mul(pv, decay);
    else if (coupled) gv = f32x4.add(gv, f32x4.mul(pv, w));
    const mv = f32x4.add(f32x4.mul(v128.load(m + off), b1), f32x4.mul(gv, c1));
    let vv = f32x4.add(f32x4.mul(v128.load(v + off), b2), f32x4.mul(f32x4.mul(gv, gv), c2));
    v128.store(m + off, mv);
    v128.store(v + off, vv);
    if (vmax) {
      vv = f32x4.max(v128.load(vmax + off), vv);
      v128.store(vmax + off, vv);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), bc), e);
    v128.store(p + off, f32x4.sub(pv, f32x4.mul(s, f32x4.div(mv, denom))));
  }
  for (; i < n; i++) {
    const off = <usize>i * 4;
    let pv = load<f32>(p + off);
    let gv = load<f32>(g + off);
    if (maximize) gv = -gv;
    if (dec) pv = pv * <f32>(1 - lr * wd);
    else if (coupled) gv = gv + pv * <f32>wd;
    const mv = load<f32>(m + off) * <f32>beta1 + gv * <f32>(1 - beta1);
    let vv = load<f32>(v + off) * <f32>beta2 + gv * gv * <f32>(1 - beta2);
    store<f32>(m + off, mv);
    store<f32>(v + off, vv);
    if (vmax) {
      vv = max(load<f32>(vmax + off), vv);
      store<f32>(vmax + off, vv);
    }
    const denom = Mathf.sqrt(vv) / <f32>bc2Sqrt + <f32>eps;
    store<f32>(p + off, pv - <f32>stepSize * (mv / denom));
  }
}

/**
 * SGD with momentum (PyTorch): d ← g (−g if maximizing) (+ wd·p); buf ← d on the first step, else μ·buf + (1 − τ)·d;
 * d ← d + μ·buf (Nesterov) or buf; p ← p − lr·d. buf = 0 means no momentum.
 */
export function sgd(p: usize, g: usize, buf: usize, n: i32, lr: f64, momentum: f64, dampening: f64, wd: f64,
                    nesterov: bool, maximize: bool, first: bool): void {
  const l = f32x4.splat(<f32>-lr), mu = f32x4.splat(<f32>momentum);
  const damp = f32x4.splat(<f32>(1 - dampening)), w = f32x4.splat(<f32>wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i * 4;
    const pv = v128.load(p + off);
    let d = v128.load(g + off);
    if (maximize) d = f32x4.neg(d);
    if (wd != 0) d = f32x4.add(d, f32x4.mul(pv, w));
    if (buf) {
      const b = first ? d : f32x4.add(f32x4.mul(v128.load(buf + off), mu), f32x4.mul(d, damp));
      v128.store(buf + off, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(b, mu)) : b;
    }
    v128.store(p + off, f32x4.add(pv, f32x4.mul(l, d)));
  }
  for (; i < n; i++) {
    const off = <usize>i * 4;
    const pv = load<f32>(p + off);
    let d = load<f32>(g + off);
    if (maximize) d = -d;
    if (wd != 0) d = d + pv * <f32>wd;
    if (buf) {
      const b = first ? d : load<f32>(buf + off) * <f32>momentum + d * <f32>(1 - dampening);
      store<f32>(buf + off, b);
      d = nesterov ? d + b * <f32>momentum : b;
    }
    store<f32>(p + off, pv - <f32>lr * d);
  }
}
