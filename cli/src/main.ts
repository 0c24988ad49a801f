#!/usr/bin/env node
import { version } from 'nsbox';
console.log(version);
