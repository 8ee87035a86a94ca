/**
 * Modules and layers with PyTorch semantics: {@link dvp.nn.Module} (named parameters, buffers and
 * children in registration order, train/eval, {@code stateDict()} with torch's keys,
 * {@code loadStateDict} with missing/unexpected/mismatch reports and prefix options), and the layers
 * ResNets need: {@link dvp.nn.Conv2d}, {@link dvp.nn.BatchNorm2d}, {@link dvp.nn.SplitBatchNorm2d},
 * {@link dvp.nn.Linear}, {@link dvp.nn.ReLU}, {@link dvp.nn.MaxPool2d},
 * {@link dvp.nn.AdaptiveAvgPool2d}, {@link dvp.nn.Flatten}, {@link dvp.nn.Sequential},
 * {@link dvp.nn.ModuleList}, {@link dvp.nn.Identity}.
 *
 * <p>Typical use:
 * <pre>{@code
 * try (Scope model = Scope.open("model")) {              // weights live as long as this scope
 *     ResNet net = ResNet.builder(ResNet.Arch.RESNET50).numClasses(1000).build(new Rng(seed));
 *     net.loadStateDict(checkpoint, LoadOptions.nonStrict().selectPrefix("module.encoder_q.").dropPrefix("fc."));
 *     try (Sgd opt = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-4).nesterov(true)
 *             .group(net.namedParameters()).build()) {
 *         for (int epoch = 0; epoch < epochs; epoch++) {
 *             LrSchedule.dvpPhase2().apply(opt, epoch, 0);
 *             for (Batch b : batches) {
 *                 try (Scope step = Scope.open("step")) {
 *                     opt.zeroGrad();
 *                     Losses.crossEntropy(net.forward(b.images()), b.labels()).backward();
 *                     opt.step();
 *                 }
 *             }
 *         }
 *     }
 * }
 * }</pre>
 * Nothing here knows about devices: modules allocate on {@code Backends.current()} when built.
 */
package dvp.nn;
