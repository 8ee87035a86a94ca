package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Precision;

/**
 * bf16 mixed precision as {@code torch.autocast(device_type="cuda", dtype=torch.bfloat16)} does it,
 * for the ops dvp has: for a whole run, when its backend is configured with {@link Precision#BF16}
 * ({@code --precision bf16}, {@link Backend#configure}), or per thread for a region:
 * {@code try (var on = Autocast.bf16(backend)) { forward and backward }}; {@link #disabled()} turns it
 * off for a region either way.
 *
 * <p>What it changes, and what it keeps (verified in simulation only: the parity suite's bf16
 * checks, AutocastTest, Bf16ActivationStorageTest, Bf16ResNetStepTest):
 * <ul>
 *   <li>{@link Conv#conv2d} and {@link Linear#matmul} (hence {@code linear}), PyTorch's
 *       lower-precision list: F32 operands — activations and the fp32 master weights, cast anew
 *       every call — are cast to BF16 ({@link Casts}); the product runs on bf16 inputs with fp32
 *       accumulation and a bf16 output (cuDNN PSEUDO_BFLOAT16_CONFIG, cuBLAS CUDA_R_16BF with
 *       COMPUTE_32F), as under PyTorch's autocast, and that BF16 output is what the op returns.</li>
 *   <li>Activations are stored in bf16, as PyTorch stores them: batch norm (BF16 x and y, fp32
 *       gamma/beta/running statistics and fp32 statistics arithmetic), ReLU, the residual add, max
 *       pooling and global average pooling take BF16 tensors and return BF16 tensors; each computes
 *       in fp32 and rounds once at the store (ReLU and max pooling only copy values, so they are
 *       exact). Their gradients flow as BF16 too; autograd adds the gradients of a BF16 activation
 *       used twice in fp32 and rounds the sum once. A BF16 and an F32 operand of add/mul promote to
 *       F32 (PyTorch's bf16 + fp32 = fp32), so {@code linear}'s fp32 bias makes logits and
 *       projections F32. A block's closing batch norm, residual add and ReLU run as one fused op on
 *       BF16 too ({@link Norm#batchNormReluTrain}), in either layout.</li>
 *   <li>PyTorch's fp32 list: softmax cross-entropy, L2 normalisation and the whole-tensor reductions
 *       cast a BF16 input to F32 at entry ({@link #fp32}, the differentiable {@link Casts#to}), so
 *       their results and gradients are fp32's; the cast's backward rounds the gradient reaching
 *       the bf16 activation.</li>
 *   <li>The paper's two losses: margin-InfoNCE casts q, k⁺ and the queue to BF16 for its two GEMMs
 *       (bf16 × bf16 → fp32 logits and dq; softmax, loss and accuracy in fp32;
 *       {@link Contrastive#marginInfoNce}); the OFD loss reads BF16 student and teacher features
 *       as they are (fp32 arithmetic, the gradient rounded once to BF16; a BF16/F32 pair is
 *       promoted to F32; {@link Distill#ofdLoss}).</li>
 *   <li>Backward: the conv/GEMM gradients are computed in bf16 (inputs bf16, fp32 accumulation);
 *       the weight casts' backward brings the weight gradients to F32 for the fp32 master weights
 *       and the optimizer, as with PyTorch's autocast.</li>
 *   <li>Batch-norm statistics, softmax, the losses' arithmetic and the optimizer stay fp32. No loss scaling:
 *       bf16 has fp32's exponent range.</li>
 * </ul>
 * The CPU backend is the fp32 reference and has no bf16 compute: {@link #bf16} refuses it with
 * "bf16 autocast needs a CUDA device", instead of silently running fp32 under a bf16 label.
 */
public final class Autocast {
    /** This thread's override: null = follow the backend's configured precision; true/false = on/off. */
    private static final ThreadLocal<Boolean> BF16 = new ThreadLocal<>();

    private Autocast() {}

    /** Closing restores the previous state. */
    public interface Guard extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Turns bf16 autocast on for this thread until the guard closes.
     *
     * @throws IllegalArgumentException when {@code backend} cannot compute in bf16 (the CPU)
     */
    public static Guard bf16(Backend backend) {
        if (!backend.supportsBf16Compute())
            throw new IllegalArgumentException("bf16 autocast needs a CUDA device (compute capability 8.0+): the " + backend.name()
                    + " backend computes in fp32 only (it is the reference); use fp32 there");
        return set(true);
    }

    /** Ops in the region run as with autocast off (PyTorch's {@code autocast(enabled=False)}). */
    public static Guard disabled() { return set(false); }

    /** Whether bf16 autocast is on for this thread by {@link #bf16} (a run-wide {@link Precision#BF16} is the backend's). */
    public static boolean bf16Enabled() { return Boolean.TRUE.equals(BF16.get()); }

    /**
     * Whether a conv/GEMM on these operands runs in bf16 here: autocast is on (this thread's
     * override, else the backend's configured precision), they are F32 or BF16 and at least one is
     * F32 (a BF16 activation meets an fp32 master weight; two BF16 operands are already lowered;
     * anything else is left to the op's own checks), on a backend with bf16 compute.
     */
    static boolean lowers(Tensor a, Tensor b) {
        if (!floating(a) || !floating(b) || (a.dtype() == DType.BF16 && b.dtype() == DType.BF16)) return false;
        Boolean override = BF16.get();
        Backend be = a.backend();
        boolean on = override != null ? override : be.computeSettings().precision() == Precision.BF16;
        return on && be.supportsBf16Compute();
    }

    private static boolean floating(Tensor t) { return t.dtype() == DType.F32 || t.dtype() == DType.BF16; }

    /**
     * PyTorch's fp32 autocast list, at the entry of an op that computes in fp32 only (softmax
     * cross-entropy, L2 normalisation, the reductions, the contrastive and distillation losses): a
     * BF16 activation is cast to F32 (the differentiable {@link Casts#to}, exact), so the op's result
     * and its gradient are those of fp32; the gradient reaching the BF16 tensor is rounded to bf16 by
     * the cast's backward. Anything else is returned as it is (the op's own checks apply).
     */
    public static Tensor fp32(Tensor x) { return x != null && x.dtype() == DType.BF16 ? Casts.to(x, DType.F32) : x; }

    private static Guard set(boolean on) {
        Boolean prev = BF16.get();
        BF16.set(on);
        return () -> BF16.set(prev);
    }
}
