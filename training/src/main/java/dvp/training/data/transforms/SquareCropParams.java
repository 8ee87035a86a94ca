package dvp.training.data.transforms;

/** Parameters of a view that resamples one crop box to a size × size square (RandomResizedCrop-based views). */
public interface SquareCropParams extends ViewParams {
    CropBox crop();

    int size();

    @Override default CropBox region() { return crop(); }

    @Override default int regionOutWidth() { return size(); }

    @Override default int regionOutHeight() { return size(); }
}
