package dvp.training.model;

import dvp.training.data.transforms.Normalize;

import java.util.List;

/**
 * How a network's input was prepared in training: the crop size and the per-channel
 * normalisation. Recorded with exported models (and in phase configs) so evaluation feeds the
 * network the same way without the user repeating it.
 */
public record InputSpec(int imageSize, List<Double> mean, List<Double> std) {
    public InputSpec {
        mean = List.copyOf(mean);
        std = List.copyOf(std);
    }

    public static InputSpec of(int imageSize, Normalize n) {
        float[] m = n.mean(), s = n.std();
        Double[] md = new Double[m.length], sd = new Double[s.length];
        for (int i = 0; i < m.length; i++) { md[i] = (double) m[i]; sd[i] = (double) s[i]; }
        return new InputSpec(imageSize, List.of(md), List.of(sd));
    }

    /**
     * config as JSON with this spec under {@code "input"} (what trainers write into config.json and
     * every checkpoint, next to the resolved {@code "model"}, so a checkpoint can be evaluated alone).
     */
    public com.fasterxml.jackson.databind.JsonNode addTo(Object config) {
        var tree = dvp.training.run.Json.tree(config);
        if (!(tree instanceof com.fasterxml.jackson.databind.node.ObjectNode o))
            throw new IllegalArgumentException("config must be a JSON object, got " + tree.getNodeType());
        o.set("input", dvp.training.run.Json.tree(this));
        return o;
    }

    public Normalize normalize() {
        float[] m = new float[mean.size()], s = new float[std.size()];
        for (int i = 0; i < m.length; i++) { m[i] = mean.get(i).floatValue(); s[i] = std.get(i).floatValue(); }
        return new Normalize(m, s);
    }
}
