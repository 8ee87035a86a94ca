package dvp.engine.cuda;

import jcuda.driver.CUfunction;

/** One kernel of the loaded image: its name (for error messages) and its function handle. */
record CudaKernel(String name, CUfunction function) {}
