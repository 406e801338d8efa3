// Package runs holds the record of workflow runs: the run documents with
// every step's attempts, the dead-letter queue, listing with filters and
// retention. The engine writes these records; the admin API and the CLI
// read them.
package runs
