package dvp.engine.profile;

import java.util.Locale;

/**
 * The backend primitives as the profiler names them: one per {@link dvp.engine.spi.Backend}
 * method that moves or computes data, named as a performance engineer reads them (the names
 * follow PyTorch's aten ops where one exists: {@code conv2d_forward}, {@code batch_norm_backward}).
 * {@link dvp.engine.spi.Backend#allocate} and {@link dvp.engine.spi.Backend#synchronize} are not
 * primitives: they move no data.
 */
public enum Primitive {
    COPY_FROM_HOST, COPY_TO_HOST, COPY, FILL,
    AXPBY, MUL, SCALE_SHIFT, SCALE_BY_SCALAR_TENSOR, RSQRT_EPS, RELU, RELU_BACKWARD, ADD_ROW_VECTOR,
    SUM_ALL, SUM_ROWS, CHANNEL_AFFINE, CHANNEL_SUM, CHANNEL_DOT,
    MATMUL,
    CONV2D_FORWARD, CONV2D_BACKWARD_DATA, CONV2D_BACKWARD_FILTER,
    BATCH_NORM_FORWARD, BATCH_NORM_BACKWARD, BATCH_NORM_RELU_FORWARD, BATCH_NORM_RELU_BACKWARD,
    MAX_POOL2D_FORWARD, MAX_POOL2D_BACKWARD, GLOBAL_AVG_POOL_FORWARD, GLOBAL_AVG_POOL_BACKWARD,
    L2_NORMALIZE_FORWARD, L2_NORMALIZE_BACKWARD, CROSS_ENTROPY_FORWARD, CROSS_ENTROPY_BACKWARD,
    MARGIN_INFONCE_FORWARD, ENQUEUE_KEYS, GATHER_ROWS, OFD_LOSS_FORWARD, OFD_LOSS_BACKWARD,
    SGD_UPDATE, SGD_UPDATE_MULTI, AXPBY_MULTI;

    private final String opName = name().toLowerCase(Locale.ROOT);

    /** The readable name shown in tables and traces: "conv2d_forward", "matmul", ... */
    public String opName() { return opName; }

    @Override
    public String toString() { return opName; }
}
