package linux

const sysStatx = 291
