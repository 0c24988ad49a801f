/**
 * Imported first by tests that render the real ink app to a fake terminal (runTui): ink decides when
 * it is first imported whether it runs under CI (a `CI` or `CONTINUOUS_INTEGRATION` variable) and
 * there draws only the last frame, on exit, so a test waiting for a frame would wait forever under
 * `.ci/run`. This worker's copy of the environment is neutralised as `nsbox tui` itself does on a tty.
 */
process.env.CI = 'false';
delete process.env.CONTINUOUS_INTEGRATION;
