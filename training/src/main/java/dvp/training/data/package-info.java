/**
 * Data for training: datasets, decoding, torchvision-faithful augmentation and the loader.
 *
 * <h2>Layout</h2>
 * <ul>
 *   <li>{@code dvp.training.data} — datasets: {@link dvp.training.data.ImageFolder} (torchvision's
 *       ordering and errors), {@link dvp.training.data.Vipriors} (train / val / trainval / test),
 *       {@link dvp.training.data.FashionMnist} (IDX files) and seeded
 *       {@link dvp.training.data.PerClassSplit per-class subsets}.</li>
 *   <li>{@code .decode} — {@link dvp.training.data.decode.ImageDecoder}: ImageIO by default,
 *       libjpeg-turbo through FFM when {@code libturbojpeg.so.0} loads (with DCT scaling);
 *       unreadable files raise {@link dvp.training.data.decode.CorruptImageException}.</li>
 *   <li>{@code .image} — {@link dvp.training.data.image.Image8} and the pixel operations.</li>
 *   <li>{@code .transforms} — random transforms and the per-view recipes (MoCo v2, supervised,
 *       evaluation / TenCrop, AutoAugment) plus {@link dvp.training.data.transforms.Normalize}.</li>
 *   <li>{@code .loader} — {@link dvp.training.data.loader.DataLoader}.</li>
 * </ul>
 *
 * <h2>Which torchvision we match</h2>
 * The MoCo and DVP code ran torchvision's transforms on <b>PIL images</b>, so that is the reference
 * here, not torchvision's tensor path: resizing is PIL's antialiased bilinear resample (the tensor
 * path does not antialias by default), the MoCo blur is PIL's {@code GaussianBlur} (three extended
 * box passes, not a sampled Gaussian kernel), colour ops are {@code ImageEnhance} blends with PIL's
 * truncating float32 arithmetic, hue goes through PIL's 8-bit HSV. The DVP AutoAugment warps are
 * scipy's cubic-spline {@code affine_transform}; torchvision's policies use PIL's nearest-neighbour
 * affine. Every deterministic op reproduces Pillow 9.4 / torchvision 0.14 / scipy 1.10 bit for bit,
 * checked by {@code TorchvisionParityTest} against Debian's {@code /usr/bin/python3}.
 *
 * <h2>Randomness and the GPU path</h2>
 * Each random transform is split into {@code sample(Rng, …) → small params record} and a pure
 * {@code apply(image, params)}. The loader draws a sample's parameters from
 * {@link dvp.training.data.loader.SampleSeeds} streams keyed by (seed, epoch, index, view), so
 * results never depend on thread count or scheduling, and a GPU kernel can apply the very same
 * parameters.
 */
package dvp.training.data;
