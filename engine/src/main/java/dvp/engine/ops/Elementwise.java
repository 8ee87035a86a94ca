package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

/**
 * Same-shape elementwise ops with their backward rules. Element types: F32, or BF16 under bf16
 * autocast for add/sub/scale/relu (fp32 arithmetic, one rounding at the store; mul's primitive is
 * F32 only); an F32 and a BF16 operand are promoted to F32 (PyTorch's rule). Layout-agnostic: the primitives walk memory
 * in order, so the operands share one layout (the first operand's; a second operand in another
 * layout is converted to it, see {@link Layouts}) and the result has it too.
 */
public final class Elementwise {
    private Elementwise() {}

    /** Uninitialised, same shape, dtype and layout as t (t dense). */
    static Tensor like(Tensor t) { return Tensor.emptyLike(t); }

    /**
     * The operands of a binary op, F32 and BF16 mixed (a bf16 activation meets an fp32 one): the BF16
     * one promoted to F32 (the differentiable {@link Casts#to}, exact), as PyTorch promotes
     * bf16 + fp32 to fp32; same dtypes, or any other pair, unchanged (the primitive's checks name both).
     */
    private static Tensor[] promoted(Tensor a, Tensor b) {
        boolean mixed = (a.dtype() == DType.BF16 && b.dtype() == DType.F32) || (a.dtype() == DType.F32 && b.dtype() == DType.BF16);
        return mixed ? new Tensor[]{Casts.to(a, DType.F32), Casts.to(b, DType.F32)} : new Tensor[]{a, b};
    }

    /** alpha*a + beta*b (F32, or BF16 under autocast: fp32 arithmetic, one rounding; mixed: promoted to F32). */
    public static Tensor axpby(float alpha, Tensor aIn, float beta, Tensor bIn) {
        Check.sameShape("add", aIn, bIn);
        Tensor[] ab = promoted(aIn, bIn);
        Tensor a = ab[0], b = ab[1];
        Tensor ca = Layouts.dense(a), cb = Layouts.match(b, ca);
        Tensor out = like(ca);
        a.backend().axpby(alpha, ca, beta, cb, out);
        return Autograd.record("add", out, g -> new Tensor[]{
                a.requiresGrad() ? scaled(g, alpha) : null,
                b.requiresGrad() ? scaled(g, beta) : null}, a, b);
    }

    /** g itself when s == 1 (identity pass-through), else s*g. */
    private static Tensor scaled(Tensor g, float s) {
        if (s == 1f) return g;
        Tensor out = like(g);
        g.backend().scaleShift(g, s, 0f, out);
        return out;
    }

    public static Tensor add(Tensor a, Tensor b) { return axpby(1f, a, 1f, b); }

    public static Tensor sub(Tensor a, Tensor b) { return axpby(1f, a, -1f, b); }

    public static Tensor mul(Tensor aIn, Tensor bIn) {
        Check.sameShape("mul", aIn, bIn);
        Tensor[] ab = promoted(aIn, bIn);
        Tensor a = ab[0], b = ab[1];
        Tensor ca = Layouts.dense(a), cb = Layouts.match(b, ca);
        Backend be = a.backend();
        Tensor out = like(ca);
        be.mul(ca, cb, out);
        return Autograd.record("mul", out, gOut -> {
            Tensor g = Layouts.match(gOut, out), da = null, db = null;
            if (a.requiresGrad()) { da = like(g); be.mul(g, cb, da); }
            if (b.requiresGrad()) { db = like(g); be.mul(g, ca, db); }
            return new Tensor[]{da, db};
        }, a, b);
    }

    public static Tensor scale(Tensor a, float s) {
        Tensor ca = Layouts.dense(a);
        Tensor out = like(ca);
        a.backend().scaleShift(ca, s, 0f, out);
        return Autograd.record("scale", out, g -> new Tensor[]{scaled(g, s)}, a);
    }

    public static Tensor relu(Tensor x) {
        Tensor cx = Layouts.dense(x);
        Backend be = x.backend();
        Tensor out = like(cx);
        be.relu(cx, out);
        return Autograd.record("relu", out, gOut -> {
            Tensor g = Layouts.match(gOut, out), dx = like(g);
            be.reluBackward(out, g, dx);
            return new Tensor[]{dx};
        }, x);
    }
}
