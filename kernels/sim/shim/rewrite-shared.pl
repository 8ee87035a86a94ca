#!/usr/bin/perl
# The simulator's host build of a kernel source: copies FILE to stdout with each shared-memory
# declaration turned into the shim's per-block form (dvp_cuda_shim.h, DVPSIM_SHARED):
#   __shared__ T name[N]...;          ->  DVPSIM_SHARED(T, name, [N]...);
#   __shared__ T name;                ->  DVPSIM_SHARED(T, name, );
#   extern __shared__ T name[];       ->  DVPSIM_DYNAMIC_SHARED(T, name);
# Any other use of __shared__ stops the build naming the line: the simulator never guesses.
# Everything else is copied unchanged, so line numbers (and the sites in reports) stay the same.
# Usage: rewrite-shared.pl FILE [NAME-IN-REPORTS] > OUT
use strict;
use warnings;
my $file = $ARGV[0] or die "usage: rewrite-shared.pl FILE\n";
open(my $in, "<", $file) or die "rewrite-shared.pl: cannot read $file: $!\n";
# reports, compiler errors and gdb name the original file and line
my $shown = $ARGV[1] // $file;
print "#line 1 \"$shown\"\n";
my $bad = 0;
while (my $line = <$in>) {
  if ($line =~ /__shared__/ && $line !~ m{^\s*//}) {
    if ($line =~ /^(\s*)extern\s+__shared__\s+([A-Za-z_][\w\s:<>]*?)\s+(\w+)\s*\[\s*\]\s*;(.*)$/) {
      $line = "$1DVPSIM_DYNAMIC_SHARED($2, $3);$4\n";
    } elsif ($line =~ /^(\s*)__shared__\s+([A-Za-z_][\w\s:<>]*?)\s+(\w+)\s*((?:\[[^\[\]]+\])*)\s*;(.*)$/) {
      $line = "$1DVPSIM_SHARED($2, $3, $4);$5\n";
    } else {
      print STDERR "$file:$.: dvp CUDA simulator: cannot rewrite this shared-memory declaration; write it as "
        . "`__shared__ T name[N];` or `extern __shared__ T name[];` on one line (no initialiser, no __align__, one name):\n  $line";
      $bad = 1;
    }
  }
  print $line;
}
exit $bad;
