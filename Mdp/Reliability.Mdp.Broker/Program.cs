// Placeholder entry point; the broker service is being written (issue 4).
return 0;
