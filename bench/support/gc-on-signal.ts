/**
 * Preloaded (`--require`, with `--expose-gc`) into the servers whose RSS the bench measures, so that
 * their RSS is read without garbage in it: without these collections, 5,000 streams on instances
 * of their own measured 53 and 83 kB each in two runs; with them, 70–77 kB in five. On SIGUSR2 it
 * runs two full collections, the second waiting for the first's concurrent sweeping so that the
 * freed pages are returned, then says so on stderr (`collectGarbage` in processes.ts waits for it).
 */
process.on('SIGUSR2', () => {
  gc!();
  gc!();
  process.stderr.write('bench: garbage collected\n');
});
