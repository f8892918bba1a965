package linux

const sysStatx = 332
