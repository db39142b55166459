package wechat

// Samples are the platform's messages in testdata, for the external tests' fuzz seeds.
var Samples = samples
