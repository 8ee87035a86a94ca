/**
 * {@link dvp.nn.optim.Sgd} (torch.optim.SGD with parameter groups and named momentum buffers) and
 * {@link dvp.nn.optim.LrSchedule} (pure epoch/step → lr-factor functions: step, multi-step, cosine,
 * linear warm-up, composable).
 */
package dvp.nn.optim;
