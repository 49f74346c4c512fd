import { codex } from './dialects.js';
import { realCliScenarios } from './scenarios.js';

realCliScenarios(codex);
