import { claude } from './dialects.js';
import { realCliScenarios } from './scenarios.js';

realCliScenarios(claude);
