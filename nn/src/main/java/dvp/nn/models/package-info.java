/**
 * torchvision's ResNet / ResNeXt ({@link dvp.nn.models.ResNet}, {@link dvp.nn.models.BasicBlock},
 * {@link dvp.nn.models.Bottleneck}) with torchvision's state-dict keys and init, plus what this
 * project adds: small-image stem, width multiplier, norm-layer factory (split BN), MoCo's MLP head,
 * the pre-ReLU stage-feature forward and OFD connectors ({@link dvp.nn.models.Connectors}).
 */
package dvp.nn.models;
