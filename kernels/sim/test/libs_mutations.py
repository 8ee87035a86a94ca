#!/usr/bin/env python3
"""Mutation check of libs_test: every seeded bug in the simulated cuBLAS/cuDNN must make it fail.

Copies kernels/sim/libs into a temporary folder (runtime/ and shim/ are linked, not copied), applies
one mutation at a time to the copy, rebuilds libs_test against it and runs it; the repository is
never written. Prints one line per mutation and exits non-zero if any mutation survives or no longer
applies (then the list below needs updating with the code). Takes a few minutes on 2 cores.
Usage: python3 kernels/sim/test/libs_mutations.py
"""
import os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.dirname(HERE)
CXX = os.environ.get('CXX', 'g++')
FLAGS = ['-std=c++17', '-O2', '-ffp-contract=off', '-fno-fast-math']

# (file in libs/, original text, mutated text, what the bug is)
MUTATIONS = [
 ('cublas_sim.cpp',"long long idx = g.transa == CUBLAS_OP_N ? i + (long long)l * g.lda : l + (long long)i * g.lda;","long long idx = g.transa == CUBLAS_OP_N ? i + (long long)l * g.lda : i + (long long)l * g.lda;","transposed A indexed as N"),
 ('cublas_sim.cpp',"if (g.beta != 0.0f) r = r + g.beta * load(g.ctype, C, ci);","r = r + g.beta * load(g.ctype, C, ci);","beta==0 still reads C"),
 ('cublas_sim.cpp',"opA[(size_t)i * g.k + l] = g.tf32 ? tf32_rna(v) : v;","opA[(size_t)i * g.k + l] = v;","TF32 not applied to A"),
 ('sim_elem.h',"(u + 0x1000u) & 0xffffe000u","(u + 0x0fffu) & 0xffffe000u","TF32 ties not away from zero"),
 ('cublas_sim.cpp',"if (lda < std::max(1, transa == CUBLAS_OP_N ? m : k))","if (lda < std::max(1, m))","lda check ignores transpose"),
 ('cublas_sim.cpp',"return cudaType == CUDA_R_32F ? Elem::F32 : cudaType == CUDA_R_16F ? Elem::F16 : Elem::BF16;","return cudaType == CUDA_R_32F ? Elem::F32 : cudaType == CUDA_R_16F ? Elem::BF16 : Elem::F16;","fp16/bf16 swapped"),
 ('cublas_sim.cpp',"float r = g.alpha * (float)acc;","float r = (float)(g.alpha * acc);","alpha applied in double"),
 ('cublas_sim.cpp',"g.scribble = h.workspace == nullptr ? 0 : std::min(h.workspaceBytes, (size_t)2 * 4 * m * n);","g.scribble = 0;","no workspace scribble"),
 ('cublas_sim.cpp',"dvpsim::require_device(g.C + b * g.strideC * (long long)ec, span_bytes(g.m, g.n, g.ldc, ec), g.call, \"C\");","dvpsim::require_device(g.C, span_bytes(g.m, g.n, g.ldc, ec), g.call, \"C\");","C range of batch 0 only"),
 ('cublas_sim.cpp',"char* C = g.C + b * g.strideC * (long long)ec;","char* C = g.C + b * g.strideC;","strideC in bytes not elements"),
 ('cudnn_sim.cpp',"*h = p * c.u - c.padH + r * c.dilH;","*h = p * c.u - c.padH + r;","forward ignores dilation"),
 ('cudnn_sim.cpp',"const long long th = h + c.padH - r * c.dilH;","const long long th = h + c.padH - r;","dgrad ignores dilation"),
 ('cudnn_sim.cpp',"if (th >= 0 && th % c.u == 0 && th / c.u < P) {","if (th >= 0 && th / c.u < P) {","dgrad ignores stride divisibility"),
 ('cudnn_sim.cpp',"inline long long tap_r(const Conv& c, long long r) { return c.flip ? c.w.h - 1 - r : r; }","inline long long tap_r(const Conv& c, long long r) { return r; }","CONVOLUTION mode not flipped in r"),
 ('cudnn_sim.cpp',"acc += (double)X[((n * C + g * Cg + cg) * H + h) * Wd + iw] *","acc += (double)X[((n * C + cg) * H + h) * Wd + iw] *","forward ignores group offset"),
 ('cudnn_sim.cpp',"d.sc = 1; d.sw = c; d.sh = w * c; d.sn = h * w * c;","d.sc = 1; d.sh = c; d.sw = h * c; d.sn = h * w * c;","NHWC strides wrong"),
 ('cudnn_sim.cpp',"const double unbiased = var * (double)M / (double)(M - 1);","const double unbiased = var;","running var biased"),
 ('cudnn_sim.cpp',"const double invstd = 1.0 / std::sqrt(var + b.eps);","const double invstd = 1.0 / std::sqrt(var);","eps ignored in forward"),
 ('cudnn_sim.cpp',"const double g = k * (dyat(n, h, w) - sumDy / (double)M - xhat * (sumDyXhat / (double)M));","const double g = k * (dyat(n, h, w) - sumDy / (double)M);","dx misses xhat term"),
 ('cudnn_sim.cpp',"if (beta != 0.0f) r = r + beta * dvpsim_libs::load(type, dst, index);","r = r + beta * dvpsim_libs::load(type, dst, index);","blend reads output when beta==0"),
 ('cudnn_sim.cpp',"  scribble(ws, wsBytes, call);\n  const std::vector<float> X = read_canonical(c.x, x, c.tf32), W","  const std::vector<float> X = read_canonical(c.x, x, c.tf32), W","forward no pre-scribble"),
 ('cudnn_sim.cpp',"const unsigned start = deterministic ? 0 : g_nondeterministic_calls.fetch_add(1);\n  dvpsim::parallel_for(K,","const unsigned start = 0;\n  dvpsim::parallel_for(K,","wgrad non-det algos deterministic"),
 ('cudnn_sim.cpp',"if (y.h != P || y.w != Q) return CUDNN_STATUS_NOT_SUPPORTED;","","no output size check"),
 ('cudnn_sim.cpp',"static_cast<float*>(b.saveInv)[c] = (float)invstd;","static_cast<float*>(b.saveInv)[c] = (float)(1.0 / invstd);","saves std not inverse"),
 ('cudnn_sim.cpp',"out->tf32 = x.type == CUDNN_DATA_FLOAT && cd.mathType != CUDNN_FMA_MATH;","out->tf32 = false;","no TF32 for DEFAULT_MATH"),
 ('cudnn_sim.cpp',"blend(Elem::F32, b.dScale, c, sumDyXhat, b.alphaParam, b.betaParam);","blend(Elem::F32, b.dScale, c, sumDyXhat, b.alphaData, b.betaData);","param grads use data alpha/beta"),
 ('cudnn_sim.cpp',"if (workSpaceSizeInBytes < need) return CUDNN_STATUS_BAD_PARAM;","","workspace size not checked"),
 ('cudnn_sim.cpp',"if (x.c % g != 0 || w.c * g != x.c || w.k % g != 0 || y.c != w.k || y.n != x.n) return CUDNN_STATUS_BAD_PARAM;","if (w.c * g != x.c || y.c != w.k) return CUDNN_STATUS_BAD_PARAM;","fewer shape checks"),
 ('cudnn_sim.cpp',"for (long long n = 0; n < N; n++) total += images[(size_t)n];","for (long long n = 1; n < N; n++) total += images[(size_t)n];","wgrad drops image 0"),
 ('cudnn_sim.cpp',"blend(c.w.type, dw, c.w.at(k, cg, tap_r(c, r), tap_s(c, s)), total, alpha, beta);","blend(c.w.type, dw, c.w.at(k, cg, r, s), total, alpha, beta);","wgrad stores unflipped taps"),
 ('cudnn_sim.cpp',"*w = q * c.v - c.padW + s * c.dilW;","*w = q * c.u - c.padW + s * c.dilW;","forward uses vertical stride horizontally"),
 ('cudnn_sim.cpp',"const long long tw = iw + c.padW - s * c.dilW;","const long long tw = iw + c.padH - s * c.dilW;","dgrad padH for width"),
 ('cudnn_sim.cpp',"invstd = 1.0 / std::sqrt(sq / (double)M + b.eps);","invstd = 1.0 / std::sqrt(sq / (double)M);","backward recompute ignores eps"),
 ('cudnn_sim.cpp',"return (double)dvpsim_libs::load(b.dy.type, b.dyp, b.dy.at(n, c, h, w));","return (double)dvpsim_libs::load(b.dy.type, b.dyp, b.x.at(n, c, h, w));","bn dy uses x strides"),
 ('cublas_sim.cpp',"  handle->workspace = nullptr;\n  handle->workspaceBytes = 0;\n  return CUBLAS_STATUS_SUCCESS;","  return CUBLAS_STATUS_SUCCESS;","SetStream keeps workspace"),
 ('cudnn_sim.cpp', "if (g_quarantine.size() > kQuarantine) {", "if (g_quarantine.size() > 0) {", "destroyed descriptors not quarantined"),
 ('cudnn_sim.cpp',"rm[c] = (float)(b.factor * mean + (1.0 - b.factor) * (double)rm[c]);","rm[c] = (float)((1.0 - b.factor) * mean + b.factor * (double)rm[c]);","momentum reversed"),
 ('cudnn_sim.cpp',"  if (x.type != w.type || x.type != y.type) return CUDNN_STATUS_BAD_PARAM;\n","","no type match check"),
 ('cudnn_sim.cpp',"p.memory = a.simulated ? workspace_bytes(dir, a.id, c) : 0;","p.memory = 0;","perf memory 0"),
 ('cudnn_sim.cpp',"    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, true, false},","    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, true, true},","algo 3 marked deterministic"),
 ('cudnn_sim.cpp',"t.h = spatial ? 1 : x.h; t.w = spatial ? 1 : x.w;","t.h = x.h; t.w = x.w;","derive always per-activation"),
 ('cudnn_sim.cpp',"if (!(epsilon >= CUDNN_BN_MIN_EPSILON)) return CUDNN_STATUS_BAD_PARAM;\n  std::vector<Dims> dims;\n  Dims param;\n  st = bn_descriptors({xDesc, yDesc}","std::vector<Dims> dims;\n  Dims param;\n  st = bn_descriptors({xDesc, yDesc}","forward eps unchecked"),
 ('cudnn_sim.cpp',"if (algo < 0 || algo >= algoCount) return CUDNN_STATUS_BAD_PARAM;\n  const Algo* a = algo_info(dir, algo);\n  if (a == nullptr || !a->simulated) return CUDNN_STATUS_NOT_SUPPORTED;  // \"the","const Algo* a = algo_info(dir, algo);\n  if (a == nullptr || !a->simulated) return CUDNN_STATUS_NOT_SUPPORTED;  // \"the","conv algo range unchecked"),
 ('cublas_sim.cpp',"if (!valid_algo(algo)) return CUBLAS_STATUS_INVALID_VALUE;","","algo unchecked"),
 ('cublas_sim.cpp',"if (mode == CUBLAS_TF32_TENSOR_OP_MATH) *tf32 = true;","","TF32 math mode ignored"),
 ('cublas_sim.cpp',"const bool reads_ab = g.k > 0 && g.alpha != 0.0f;","const bool reads_ab = g.k > 0;","alpha==0 reads A/B"),
 ('cublas_sim.cpp', "if (g_retired.size() > 64) {", "if (g_retired.size() > 0) {", "destroyed handles not quarantined"),
 ('cudnn_sim.cpp',"return okA && a.time < b.time;","return okA && a.time > b.time;","Find sorts the slowest first"),
 ('cudnn_sim.cpp',"    if (dvpsim::enqueue(h.stream, call, [=]() { run_algo(c, dir, algo, in0, in1, out, 1.0f, 0.0f, workSpace, need, call); }) != 0)\n      return CUDNN_STATUS_EXECUTION_FAILED;\n","    (void)need;\n","Find runs nothing"),
 ('cudnn_sim.cpp',"  if (dvpsim::synchronize(h.stream, call) != 0) return CUDNN_STATUS_EXECUTION_FAILED;\n  std::vector<Perf> rec;","  std::vector<Perf> rec;","Find does not synchronise first (would run during a capture)"),
 ('cudnn_sim.cpp',"p.time = modelled_time(dir, a.id, c);","p.time = 1.0f;","Find reports no modelled time"),
 ('cudnn_sim.cpp',"    } else if (workspace_bytes(dir, a.id, c) > wsBytes) {","    } else if (false) {","Find runs algorithms the workspace cannot hold"),
]


def main():
    tmp = tempfile.mkdtemp(prefix='libs_mutations.')
    try:
        shutil.copytree(os.path.join(SIM, 'libs'), os.path.join(tmp, 'libs'))
        for d in ('runtime', 'shim'):
            os.symlink(os.path.join(SIM, d), os.path.join(tmp, d))
        os.mkdir(os.path.join(tmp, 'test'))
        for f in ('libs_test.cpp', 'inline_runtime.cpp', 'inline_runtime.h'):
            shutil.copy(os.path.join(HERE, f), os.path.join(tmp, 'test', f))
        test_o, rt_o = os.path.join(tmp, 'libs_test.o'), os.path.join(tmp, 'inline_runtime.o')
        subprocess.run([CXX, *FLAGS, '-c', os.path.join(tmp, 'test', 'libs_test.cpp'), '-o', test_o], check=True)
        subprocess.run([CXX, *FLAGS, '-c', os.path.join(tmp, 'test', 'inline_runtime.cpp'), '-o', rt_o], check=True)
        survived = 0
        for name, old, new, what in MUTATIONS:
            path = os.path.join(tmp, 'libs', name)
            with open(path) as f:
                src = f.read()
            if src.count(old) != 1:
                print(f'STALE     {what}: the original text is not in {name} exactly once', flush=True)
                survived += 1
                continue
            with open(path, 'w') as f:
                f.write(src.replace(old, new))
            try:
                objs = []
                for lib in ('cublas_sim', 'cudnn_sim'):
                    o = os.path.join(tmp, lib + '.o')
                    subprocess.run([CXX, *FLAGS, '-c', os.path.join(tmp, 'libs', lib + '.cpp'), '-o', o], check=True)
                    objs.append(o)
                exe = os.path.join(tmp, 'libs_test')
                subprocess.run([CXX, test_o, rt_o, *objs, '-o', exe], check=True)
                r = subprocess.run([exe], capture_output=True, text=True, timeout=120)
                fails = [l for l in r.stdout.splitlines() if l.startswith('FAIL')]
                if r.returncode != 0:
                    first = fails[0][6:96] if fails else f'exit status {r.returncode}'
                    print(f'caught    {what}: {len(fails)} failing checks, e.g. {first}', flush=True)
                else:
                    print(f'SURVIVED  {what}', flush=True)
                    survived += 1
            finally:
                with open(path, 'w') as f:
                    f.write(src)
        print(f'libs_mutations: {len(MUTATIONS)} mutations, {len(MUTATIONS) - survived} caught, {survived} not')
        return 1 if survived else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
